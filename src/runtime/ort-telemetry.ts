/**
 * Imported before onnxruntime-node (imports run in order), because its native library reads this when it starts.
 * onnxruntime-node 1.30's Linux binary has telemetry on: it sends usage events to Microsoft, keeps a cache under
 * ~/.cache/Microsoft/DeveloperTools and leaves an empty /tmp/mat-debug-<pid>.log behind every process. A command-line
 * tool in a CI job should do none of that unasked, so it is off unless the user set the variable either way.
 */
process.env.ORT_DISABLE_TELEMETRY ??= '1';

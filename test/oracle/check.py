"""onnx.checker.check_model (full) on each path given; prints a JSON map path -> error message or null."""
import json
import sys

import onnx

result = {}
for path in sys.argv[1:]:
    try:
        onnx.checker.check_model(onnx.load(path), full_check=True)
        result[path] = None
    except Exception as e:  # the checker's own exceptions carry the message we want to see
        result[path] = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
print(json.dumps(result))

"""Reads lines "original<TAB>copy" on stdin; prints a JSON list of the pairs onnx does not consider equal."""
import json
import sys

import onnx

bad = []
for line in sys.stdin:
    a, b = line.rstrip("\n").split("\t")
    if onnx.load(a) != onnx.load(b):
        bad.append(a)
print(json.dumps(bad))

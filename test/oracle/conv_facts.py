"""For one model: its Conv nodes (name, parameter count, inferred output shape at batch 1) and its float parameters."""
import json
import sys

import numpy as np
import onnx
from onnx import numpy_helper, shape_inference

model = onnx.load(sys.argv[1])
inp = model.graph.input[0]
for d in inp.type.tensor_type.shape.dim:
    if d.dim_param:
        d.dim_value = 1  # symbolic batch = 1, as ftm-compress inspect does
inferred = shape_inference.infer_shapes(model)
shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim] for v in inferred.graph.value_info}
inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
convs = []
for n in model.graph.node:
    if n.op_type == "Conv":
        params = sum(inits[i].size for i in n.input[1:] if i in inits)
        convs.append({"name": n.name, "params": int(params), "out": shapes.get(n.output[0])})
floats = sum(a.size for a in inits.values() if a.dtype.kind == "f")
print(json.dumps({"convs": convs, "params": int(floats)}))

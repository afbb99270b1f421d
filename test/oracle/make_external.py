"""Writes, into the folder given, a small model whose initializers live in an external data file, and its inline twin."""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
rng = np.random.default_rng(0)
w = numpy_helper.from_array(rng.standard_normal((8, 4, 3, 3)).astype(np.float32), "w")
b = numpy_helper.from_array(rng.standard_normal(8).astype(np.float32), "b")
big = numpy_helper.from_array(np.array([2**62 + 1, -(2**63), 2**63 - 1] * 200, dtype=np.int64), "big")
graph = helper.make_graph(
    [helper.make_node("Conv", ["x", "w", "b"], ["y"], name="conv", pads=[1, 1, 1, 1]),
     helper.make_node("Shape", ["big"], ["s"], name="shape")],
    "ext",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4, 5, 5])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 8, 5, 5]),
     helper.make_tensor_value_info("s", TensorProto.INT64, [1])],
    [w, b, big],
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
model.ir_version = 8
onnx.save(model, os.path.join(out, "inline.onnx"))
onnx.save_model(model, os.path.join(out, "external.onnx"), save_as_external_data=True,
                all_tensors_to_one_file=True, location="weights.bin", size_threshold=16)
print('{"ok": true}')

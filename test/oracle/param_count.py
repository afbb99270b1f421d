"""Parameters of an ONNX model as a user counts them: elements of float tensors in initializers and in Constant nodes
(value, value_float, value_floats), subgraphs included. Prints the count as JSON."""
import json
import sys

import onnx
from onnx import TensorProto

FLOATS = {TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.FLOAT16, TensorProto.BFLOAT16}


def size(t):
    n = 1
    for d in t.dims:
        n *= d
    return n if t.data_type in FLOATS else 0


def count(graph):
    n = sum(size(t) for t in graph.initializer)
    for node in graph.node:
        for a in node.attribute:
            if node.op_type == 'Constant' and node.domain in ('', 'ai.onnx'):
                if a.name == 'value':
                    n += size(a.t)
                elif a.name == 'value_float':
                    n += 1
                elif a.name == 'value_floats':
                    n += len(a.floats)
            if a.type == onnx.AttributeProto.GRAPH:
                n += count(a.g)
            elif a.type == onnx.AttributeProto.GRAPHS:
                n += sum(count(g) for g in a.graphs)
    return n


if __name__ == '__main__':
    print(json.dumps(count(onnx.load(sys.argv[1]).graph)))

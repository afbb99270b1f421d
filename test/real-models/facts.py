"""Facts about ONNX files, read by the onnx package (an oracle independent of ftm-compress), one JSON object per path:

  checker   null when onnx.checker.check_model(full_check=True) accepts the model, else its first line
  weights   elements of floating-point tensors in initializers and in Constant nodes (value, value_float(s)), subgraphs
            included: the weights a user counts, whatever form the exporter stored them in
  inputs, outputs   [{name, elemType, dims}] of the main graph, a dim as its value, its symbolic name, or null

    /usr/bin/python3 test/real-models/facts.py a.onnx b.onnx ...   (prints {path: facts})
"""
import json
import os
import sys

import onnx

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'oracle'))
from param_count import count as graph_weights  # noqa: E402  (one oracle of the weights a user counts)


def value_info(v):
    t = v.type.tensor_type
    dims = None
    if t.HasField('shape'):
        dims = [d.dim_value if d.HasField('dim_value') else (d.dim_param if d.HasField('dim_param') else None) for d in t.shape.dim]
    return {'name': v.name, 'elemType': t.elem_type, 'dims': dims}


def facts(path):
    model = onnx.load(path)
    try:
        onnx.checker.check_model(model, full_check=True)
        checker = None
    except Exception as e:  # the checker's own exceptions carry the message we want to see
        text = str(e).strip()
        checker = text.splitlines()[0] if text else type(e).__name__
    initializers = {t.name for t in model.graph.initializer}
    return {
        'checker': checker,
        'weights': graph_weights(model.graph),
        'inputs': [value_info(v) for v in model.graph.input if v.name not in initializers],
        'outputs': [value_info(v) for v in model.graph.output],
    }


print(json.dumps({path: facts(path) for path in sys.argv[1:]}))

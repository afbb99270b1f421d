#!/usr/bin/python3
"""Exports torchvision ResNets with trained-like BatchNorm for bench/scale.ts (no pretrained weights, no network).

    /usr/bin/python3 bench/export-resnet.py OUT_DIR NAME [NAME ...]     (NAME: resnet18, resnet50)

BatchNorm gets seeded affine parameters and running statistics measured in train mode on seeded noise at 224x224, so
each folds into a non-trivial scale and shift and activations stay in a trained network's range. Opset 13, constant
folding on (BN folds into the convs), input "input" [batch, 3, height, width] with symbolic dims, output "logits".
Writes OUT_DIR/NAME.onnx unless it exists; prints its path.
"""
import os
import sys

import torch
import torchvision.models as tvm

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures', 'real'))
from export_torchvision import make_trained_like  # noqa: E402  (one definition of trained-like BatchNorm)

SEED = 0
SIZE = 224


def export(name, out_dir):
    path = os.path.join(out_dir, f'{name}.onnx')
    if os.path.exists(path):
        return path
    torch.manual_seed(SEED)
    model = getattr(tvm, name)(weights=None)
    generator = torch.Generator().manual_seed(SEED)
    make_trained_like(model, generator, size=SIZE, batches=2)
    tmp = path + '.tmp'
    torch.onnx.export(model, torch.randn(1, 3, SIZE, SIZE, generator=generator), tmp, opset_version=13,
                      do_constant_folding=True, export_params=True, input_names=['input'], output_names=['logits'],
                      dynamic_axes={'input': {0: 'batch', 2: 'height', 3: 'width'}, 'logits': {0: 'batch'}})
    os.replace(tmp, path)
    return path


if __name__ == '__main__':
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    torch.set_num_threads(1)
    os.makedirs(sys.argv[1], exist_ok=True)
    for name in sys.argv[2:]:
        print(export(name, sys.argv[1]), flush=True)

// Precompiled header of the trainer's LibTorch translation units (torch costs ~40 s per TU).
#pragma once

#include <torch/torch.h>

__version__ = "0.0.1"

import warnings
# fastai.layers decorates functions with `torch.jit.script`, which recent torch deprecates with a FutureWarning on
# every import: silence exactly that message, once, before any rts_seg module imports fastai.
warnings.filterwarnings('ignore', message=r'`torch\.jit\.script` is deprecated', category=FutureWarning)

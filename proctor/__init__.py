"""proctor: face-verification identity core and 学法减分 rules.

Importing the package loads no vision library; adapters are imported lazily.

It does set OpenCV's own image-size guards before any module imports cv2 (OpenCV reads
them once, when it is loaded): ``proctor.imaging`` refuses oversized images from their
headers first, and these make the decoder refuse, in its own reading of the header,
anything larger than the service's pixel cap (defence in depth for a header that our
parser and the decoder read differently). An operator's own values are kept.
"""

import os

for _name, _value in (
    ("OPENCV_IO_MAX_IMAGE_PIXELS", "16000000"),  # = proctor.imaging.decode.DecodeLimits.max_pixels
    ("OPENCV_IO_MAX_IMAGE_WIDTH", "16384"),
    ("OPENCV_IO_MAX_IMAGE_HEIGHT", "16384"),
):
    os.environ.setdefault(_name, _value)

__version__ = "0.1.0"

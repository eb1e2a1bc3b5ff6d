"""DataMatrix (ECC 200) symbols of a label payload, made with zxing-cpp."""

from __future__ import annotations

import numpy as np
import zxingcpp
from PIL import Image


def datamatrix_image(content: str, *, pixels_per_module: int = 8) -> Image.Image:
    """A greyscale image of the DataMatrix for ``content``, quiet zone included."""
    barcode = zxingcpp.create_barcode(content, zxingcpp.BarcodeFormat.DataMatrix)
    bitmap = zxingcpp.write_barcode_to_image(barcode, scale=pixels_per_module, add_quiet_zones=True)
    return Image.fromarray(np.asarray(bitmap), mode="L")


def datamatrix_modules(content: str) -> int:
    """Modules per side of the symbol (without quiet zone): lets a layout size it in whole modules."""
    barcode = zxingcpp.create_barcode(content, zxingcpp.BarcodeFormat.DataMatrix)
    bitmap = np.asarray(zxingcpp.write_barcode_to_image(barcode, scale=1, add_quiet_zones=False))
    return int(bitmap.shape[1])

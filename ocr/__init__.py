"""OCR: OpenCV page preprocessing and the tesseract adapter."""

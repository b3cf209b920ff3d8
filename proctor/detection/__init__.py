"""Face detection: the dlib HOG adapter and primary-face selection."""

"""Face detection: the FaceDetector port, the dlib HOG adapter, primary-face selection."""

"""Face landmarks for liveness bursts: MediaPipe FaceMesh (468 points with depth) on LiteRT."""

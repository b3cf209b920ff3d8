"""Calibration: pairs from labelled images, operating points, bootstrap intervals. Pure core."""

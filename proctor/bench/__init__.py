"""`proctor bench`: speed and accuracy measured side by side with face_recognition."""

"""Pose estimators: map an image and person detections to keypoints."""

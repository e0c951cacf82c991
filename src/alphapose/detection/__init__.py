"""Person detection: detectors return :class:`alphapose.structures.Detections`; box NMS utilities."""

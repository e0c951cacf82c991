"""COCO-style keypoint evaluation: AP per body part with each layout's OKS sigmas."""

from alphapose.evaluate.coco import WHOLEBODY_PARTS, keypoint_ap, wholebody_ap

__all__ = ["WHOLEBODY_PARTS", "keypoint_ap", "wholebody_ap"]

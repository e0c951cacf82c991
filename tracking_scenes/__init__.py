"""Tracking scenes with identities known by construction, for the tests and benches (not part
of the installed package):

* :mod:`tracking_scenes.synthetic`: walking skeletons with distinct clothes (crossings,
  occlusion, entries and exits);
* :mod:`tracking_scenes.real`: COCO people cut along their ground-truth masks, walking over a
  real street (crossings, look-alikes, camera pan and zoom, a crowd).

The tests find this package through pytest's ``pythonpath``; the benches put the repository on
``sys.path``.
"""

"""Names of the ffmpeg filters a moving crop drives.

The render graph (`clipmill.edit.render`) declares these filter instances and the framing's
``sendcmd`` text (`clipmill.vision.framing`) addresses them by name: both read the names from here,
so the commands cannot miss their filters.
"""

#: The plain moving crop: one ``crop`` filter, addressed by its type.
CROP = "crop"
#: The composite framing's foreground region and the scale that sizes it over the blurred background.
FOREGROUND_CROP = "crop@fg"
FOREGROUND_SCALE = "scale@fg"

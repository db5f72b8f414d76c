"""Template phrasings, one module per task family, each a PHRASINGS dict: task -> phrasings.

Every phrasing names the first frame "{image}" (and "{image1}"... for further frames), as ACE
does; slots use string.Template syntax ("$caption") so that the braces stay literal.
"""

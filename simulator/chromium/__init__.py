"""Real Chromium windows in the lab (issue #18 part 3): :class:`ChromiumWindow` (a headless Chromium tab driven by
Selenium, watched through CDP), its driver, the clock check and the socket.io frame decoder. Needs the apt packages
``chromium chromium-driver`` and ``pip install 'clientsim[chromium]'`` (Selenium); :func:`missing_reason` says
what is missing. No Qt import here.
"""
from .driver import APT_PACKAGES, ChromiumDriver, ChromiumMissingError, missing_reason
from .window import BROWSER_KIND, ChromiumWindow

__all__ = ['ChromiumWindow', 'ChromiumDriver', 'ChromiumMissingError', 'missing_reason', 'APT_PACKAGES',
           'BROWSER_KIND']

"""A Linux machine without the libraries Qt's xcb plugin needs gets every package named, not a Qt abort."""

import sys

import pytest

from dip_gui.ui.system_libraries import XCB_LIBRARIES, missing_libraries_message, missing_packages, uses_xcb


def test_xcb_is_used_unless_another_platform_or_a_wayland_session_is_chosen():
    assert uses_xcb({}) and uses_xcb({"QT_QPA_PLATFORM": "xcb"})
    assert not uses_xcb({"QT_QPA_PLATFORM": "offscreen"}) and not uses_xcb({"WAYLAND_DISPLAY": "wayland-0"})
    assert uses_xcb({"WAYLAND_DISPLAY": "wayland-0", "QT_QPA_PLATFORM": "xcb"})


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux system libraries")
def test_every_missing_package_is_named_in_one_command():
    absent = {"xcb-cursor", "xkbcommon-x11"}
    packages = missing_packages({}, lambda name: None if name in absent else f"lib{name}.so")
    assert packages == ["libxcb-cursor0", "libxkbcommon-x11-0"]
    assert missing_libraries_message(packages).endswith("sudo apt-get install libxcb-cursor0 libxkbcommon-x11-0")
    assert missing_packages({"QT_QPA_PLATFORM": "offscreen"}, lambda name: None) == []
    assert len(missing_packages({}, lambda name: None)) == len(XCB_LIBRARIES)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux system libraries")
def test_the_window_warns_what_to_install_before_qt_starts(monkeypatch, capsys):
    import dip_gui.ui.system_libraries as system_libraries

    monkeypatch.setattr(system_libraries, "missing_packages", lambda: ["libxcb-cursor0"])
    system_libraries.warn_about_missing_libraries()
    assert capsys.readouterr().err.strip() == (
        "warning: the window needs system libraries that seem to be missing; install them with: "
        "sudo apt-get install libxcb-cursor0")
    monkeypatch.setattr(system_libraries, "missing_packages", lambda: [])
    system_libraries.warn_about_missing_libraries()
    assert capsys.readouterr().err == ""

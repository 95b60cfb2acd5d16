"""``install-desktop``: the menu entry and icon a photographer's desktop shows, and what a wheel ships."""

import configparser
import subprocess
import sys
import zipfile

from dip_gui.cli.main import main
from dip_gui.core.samples import application_icon_path


def test_the_menu_entry_and_icon_are_installed_for_this_user_and_removed_again(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert main(["install-desktop"]) == 0
    entry = tmp_path / "applications" / "dip-studio.desktop"
    icon = tmp_path / "icons" / "hicolor" / "scalable" / "apps" / "dip-studio.svg"
    parsed = configparser.ConfigParser(interpolation=None)
    parsed.read(entry)
    fields = parsed["Desktop Entry"]
    assert fields["Type"] == "Application" and fields["Name"] == "DIP Studio" and fields["Icon"] == "dip-studio"
    assert fields["Exec"].endswith(" %f") and (sys.executable in fields["Exec"] or "dip-studio" in fields["Exec"])
    assert "image/jpeg" in fields["MimeType"] and "Photography" in fields["Categories"]
    assert icon.read_bytes() == application_icon_path().read_bytes() and b"<svg" in icon.read_bytes()
    assert "applications menu" in capsys.readouterr().err
    assert main(["install-desktop", "--uninstall"]) == 0
    assert not entry.exists() and not icon.exists()


def test_an_unwritable_place_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("XDG_DATA_HOME", str(blocker))
    assert main(["install-desktop"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_the_wheel_ships_the_icon_the_samples_and_the_command(tmp_path):
    root = application_icon_path().parents[2]
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path),
                    str(root)], check=True, capture_output=True, timeout=300)
    wheel = next(tmp_path.glob("dip_studio-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "dip_gui/resources/icons/dip-studio.svg" in names
    assert "dip_gui/resources/samples/chelsea.png" in names
    entry_points = next(name for name in names if name.endswith("entry_points.txt"))
    assert "dip-studio = dip_gui.__main__:entry" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_an_exec_argument_with_spaces_or_quotes_is_quoted_as_the_desktop_specification_says():
    from dip_gui.cli.desktop import exec_quote

    assert exec_quote("/usr/bin/dip-studio") == "/usr/bin/dip-studio"
    assert exec_quote("/opt/100%/python") == "/opt/100%%/python"
    assert exec_quote("/home/a b/venv/bin/python") == '"/home/a b/venv/bin/python"'
    assert exec_quote('/x/"$HOME"/py') == '"/x/\\"\\$HOME\\"/py"'

"""The hosts inventory (--hosts FILE): read by config.load_inventory, every bad input a one-line
error naming the file and the field, before anything is built or copied."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.config import load_inventory
from harness.errors import HarnessError

SERVER = '[server]\naddress = "127.0.0.1"\n'


def load_table(name: str = "load-1", address: str = "192.0.2.10", **extra: str) -> str:
    lines = [
        "[[load]]",
        f'name = "{name}"',
        f'address = "{address}"',
        'user = "bench"',
        *(f"{k} = {v}" for k, v in extra.items()),
    ]
    return "\n".join(lines) + "\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hosts.toml"
    path.write_text(text)
    return path


def key(tmp_path: Path, mode: int = 0o600) -> Path:
    path = tmp_path / "id_ed25519"
    path.write_text("not really a key")
    os.chmod(path, mode)
    return path


def error_of(path: Path) -> str:
    with pytest.raises(HarnessError) as caught:
        load_inventory(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    return message


def test_a_good_inventory_is_read_with_paths_relative_to_it(tmp_path):
    key(tmp_path)
    (tmp_path / "known").write_text("")
    path = write(
        tmp_path,
        SERVER
        + "cpus = [0]\n"
        + load_table(key_file='"id_ed25519"', known_hosts='"known"', cpus="[1]", port="2222")
        + load_table("load-2", "192.0.2.11"),
    )
    inventory = load_inventory(path)
    assert inventory.server_address == "127.0.0.1"
    assert inventory.server_cpus == (0,)
    first, second = inventory.load
    assert (first.name, first.address, first.user, first.port) == (
        "load-1",
        "192.0.2.10",
        "bench",
        2222,
    )
    assert first.key_file == str(tmp_path / "id_ed25519")
    assert first.known_hosts == str(tmp_path / "known")
    assert first.cpus == (1,)
    assert (second.port, second.key_file, second.known_hosts, second.cpus) == (22, None, None, None)
    assert second.work_dir == "/tmp/gorust-harness"
    assert (first.processes, second.processes) == (1, 1)


def test_load_processes_per_host_are_read_and_bounded(tmp_path):
    inventory = load_inventory(write(tmp_path, SERVER + load_table(processes="2")))
    assert inventory.load[0].processes == 2
    for bad in ("0", "65"):
        message = error_of(write(tmp_path, SERVER + load_table(processes=bad)))
        assert f"[[load]] load-1: field 'processes' must be 1-64, got {bad}" in message
    message = error_of(write(tmp_path, SERVER + load_table(processes='"two"')))
    assert "[[load]] load-1: field 'processes'" in message


def test_an_unknown_key_is_named_with_the_nearest_known_one(tmp_path):
    message = error_of(write(tmp_path, SERVER + load_table(adress='"x"')))
    assert "[[load]] load-1: unknown field 'adress' (did you mean 'address'?)" in message
    message = error_of(write(tmp_path, SERVER + load_table() + "[extra]\n"))
    assert "unknown field 'extra'" in message


def test_a_host_listed_twice_is_refused(tmp_path):
    message = error_of(write(tmp_path, SERVER + load_table() + load_table(address="192.0.2.11")))
    assert "field 'name': host 'load-1' is listed twice" in message
    message = error_of(write(tmp_path, SERVER + load_table() + load_table("load-2")))
    assert (
        "[[load]] load-2: field 'address': 192.0.2.10:22 is listed twice (also as load-1)"
        in message
    )


def test_a_load_host_that_is_the_server_host_must_say_so(tmp_path):
    message = error_of(write(tmp_path, SERVER + load_table(address="127.0.0.1")))
    assert "field 'address': 127.0.0.1 is the server host" in message
    assert "shares_server = true" in message
    inventory = load_inventory(
        write(tmp_path, SERVER + load_table(address="127.0.0.1", shares_server="true"))
    )
    assert inventory.load[0].shares_server


def test_a_missing_or_world_readable_key_file_is_refused(tmp_path):
    message = error_of(write(tmp_path, SERVER + load_table(key_file='"nowhere"')))
    assert f"field 'key_file': {tmp_path / 'nowhere'} does not exist" in message
    key(tmp_path, 0o644)
    message = error_of(write(tmp_path, SERVER + load_table(key_file='"id_ed25519"')))
    assert (
        "field 'key_file'" in message and "readable by others (mode 0644); chmod 600 it" in message
    )


def test_the_server_address_must_be_this_machines_unless_the_server_host_is_named(tmp_path):
    message = error_of(write(tmp_path, '[server]\naddress = "192.0.2.99"\n' + load_table()))
    assert "[server]: field 'address': 192.0.2.99 is not an address of this machine" in message
    assert "give its 'user'" in message
    message = error_of(write(tmp_path, '[server]\naddress = "server.example"\n' + load_table()))
    assert "field 'address' must be an IP address" in message


@pytest.mark.parametrize("wildcard", ["0.0.0.0", "::"])
def test_the_server_address_is_never_a_wildcard(tmp_path, wildcard):
    """The servers listen on it: a wildcard would listen on every interface, and a load host
    cannot dial it."""
    message = error_of(write(tmp_path, f'[server]\naddress = "{wildcard}"\n' + load_table()))
    assert f"[server]: field 'address': {wildcard} is a wildcard" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (load_table(), "missing table [server]"),
        (SERVER, "needs at least one [[load]] table"),
        (SERVER + load_table(cpus="[1, 1]"), "field 'cpus' must be a list of distinct CPU numbers"),
        (SERVER + load_table(port="0"), "field 'port' must be 1-65535"),
        (SERVER + load_table(work_dir='"relative"'), "field 'work_dir' must be an absolute path"),
        (SERVER + load_table(name="Load 1"), "field 'name' must be lowercase"),
        (SERVER + '[[load]]\nname = "a"\naddress = "192.0.2.1"\n', "missing field 'user'"),
    ],
)
def test_each_bad_field_is_one_line(tmp_path, text, expected):
    assert expected in error_of(write(tmp_path, text))


def test_run_reads_the_inventory_before_building(tmp_path, capsys):
    """`harness run --hosts` refuses a bad inventory before any build (nothing is built or copied)."""
    from harness.cli.main import main

    path = write(tmp_path, SERVER + load_table(adress='"x"'))
    code = main(
        [
            "--results-dir",
            str(tmp_path / "results"),
            "--cache-dir",
            str(tmp_path / "cache"),
            "run",
            "--workloads",
            "http-json",
            "--size",
            "quick",
            "--hosts",
            str(path),
        ]
    )
    err = capsys.readouterr().err
    assert code != 0
    assert "unknown field 'adress'" in err
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob("*.build.json"))


REMOTE_SERVER = '[server]\nname = "srv"\naddress = "192.0.2.99"\nuser = "bench"\n'


def test_a_server_host_of_its_own_is_read_with_its_ssh_fields(tmp_path):
    key(tmp_path)
    path = write(
        tmp_path,
        REMOTE_SERVER
        + 'key_file = "id_ed25519"\nport = 2200\nwork_dir = "/srv/h"\n'
        + 'python = "/opt/py/bin/python3"\ncpus = [2, 3]\n'
        + load_table(),
    )
    inventory = load_inventory(path)
    host = inventory.server_host
    assert host is not None
    assert (host.name, host.address, host.user, host.port, host.work_dir) == (
        "srv",
        "192.0.2.99",
        "bench",
        2200,
        "/srv/h",
    )
    assert host.key_file == str(tmp_path / "id_ed25519")
    assert inventory.server_python == "/opt/py/bin/python3"
    assert inventory.server_cpus == (2, 3)
    # A load host on this machine is not the server host then: no shares_server needed.
    assert load_inventory(write(tmp_path, REMOTE_SERVER + load_table(address="127.0.0.1")))
    # Without a user the server host is this machine, with python3 by default.
    assert load_inventory(write(tmp_path, SERVER + load_table())).server_host is None


def test_a_server_host_of_its_own_refuses_what_cannot_be(tmp_path):
    message = error_of(
        write(tmp_path, '[server]\naddress = "127.0.0.1"\nuser = "bench"\n' + load_table())
    )
    assert "field 'address': 127.0.0.1 is this machine's; leave out 'user'" in message
    message = error_of(write(tmp_path, SERVER + 'python = "python3"\n' + load_table()))
    assert "[server]: field 'python' is for a server host of its own; give its 'user'" in message
    message = error_of(write(tmp_path, REMOTE_SERVER + load_table(address="192.0.2.99")))
    assert "field 'address': 192.0.2.99 is the server host" in message
    message = error_of(write(tmp_path, REMOTE_SERVER + load_table(name="srv")))
    assert "[[load]] srv: field 'name': 'srv' is also the server host's name" in message
    key(tmp_path, 0o644)
    message = error_of(write(tmp_path, REMOTE_SERVER + 'key_file = "id_ed25519"\n' + load_table()))
    assert "[server]: field 'key_file'" in message and "readable by others" in message
    message = error_of(write(tmp_path, REMOTE_SERVER + 'work_dir = "rel"\n' + load_table()))
    assert "[server]: field 'work_dir' must be an absolute path" in message

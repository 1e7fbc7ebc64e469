"""`python -m bot.web.accounts`: manage staff, analyst and admin accounts (passwords as argon2 hashes).

    python -m bot.web.accounts add USERNAME --name "Anne Berg" --initials AB --role staff
    python -m bot.web.accounts add USERNAME --name "Ida Lund" --initials IL --role analyst --role admin
    python -m bot.web.accounts passwd USERNAME
    python -m bot.web.accounts disable USERNAME   # cannot log in; open sessions end at once
    python -m bot.web.accounts enable USERNAME
    python -m bot.web.accounts remove USERNAME
    python -m bot.web.accounts list
    python -m bot.web.accounts demo     # make run: a staff, an analyst and an admin account, if there are none

Roles: `staff` (the staff chat), `analyst` (the analyst pages), `admin` (the audit log of
analysts' reads); separate, and an account may have several.

Passwords are read from the terminal (or one line on stdin when it is not a
terminal), never from the command line, where `ps` and shell history see them.
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import secrets
import sys
from pathlib import Path

from bot.config import Settings
from bot.web.auth import ROLES, Account, hash_password, load_accounts, save_accounts

MIN_PASSWORD = 12


def _read_password() -> str:
    if sys.stdin.isatty():
        password = getpass.getpass("Adgangskode: ")
        if getpass.getpass("Gentag adgangskode: ") != password:
            raise SystemExit("De to adgangskoder er forskellige.")
    else:
        password = sys.stdin.readline().rstrip("\n")
    if len(password) < MIN_PASSWORD:
        raise SystemExit(f"Adgangskoden skal have mindst {MIN_PASSWORD} tegn.")
    return password


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.web.accounts", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--file", type=Path, default=None, help="accounts file (default: TRAENINGSGUIDEN_ACCOUNTS)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add", help="add an account")
    add.add_argument("username")
    add.add_argument("--name", required=True)
    add.add_argument("--initials", required=True)
    add.add_argument("--role", choices=ROLES, action="append", required=True)
    sub.add_parser("passwd", help="set a new password").add_argument("username")
    sub.add_parser("disable", help="stop an account from logging in (its sessions end)").add_argument(
        "username"
    )
    sub.add_parser("enable", help="let a disabled account log in again").add_argument("username")
    sub.add_parser("remove", help="remove an account").add_argument("username")
    sub.add_parser("list", help="list accounts (no hashes)")
    sub.add_parser("demo", help="create demo staff, analyst and admin accounts when there are no accounts")
    args = parser.parse_args(argv)

    path = args.file or Path(Settings.from_env().accounts_file)
    accounts = load_accounts(path)
    if args.command == "list":
        for a in accounts.values():
            state = "\tdisabled" if a.disabled else ""
            print(f"{a.username}\t{a.initials}\t{','.join(sorted(a.roles))}\t{a.name}{state}")
        return 0
    if args.command == "demo":
        if accounts:
            return 0
        for username, name, initials, role in (
            ("personale", "Demo Personale", "DP", "staff"),
            ("analytiker", "Demo Analytiker", "DA", "analyst"),
            ("administrator", "Demo Administrator", "DX", "admin"),
        ):
            password = secrets.token_urlsafe(12)
            accounts[username] = Account(username, name, initials, frozenset({role}), hash_password(password))  # type: ignore[arg-type]
            print(f"  demo account {username} ({role}): password {password}")
        save_accounts(path, accounts)
        print(f"  saved in {path}; change them with: python -m bot.web.accounts passwd <username>")
        return 0
    if args.command == "add":
        if args.username in accounts:
            raise SystemExit(f"{args.username} exists; use passwd")
        accounts[args.username] = Account(
            args.username,
            args.name,
            args.initials.upper(),
            frozenset(args.role),
            hash_password(_read_password()),
        )
    elif args.username not in accounts:
        raise SystemExit(f"no account {args.username}")
    elif args.command == "passwd":
        accounts[args.username] = dataclasses.replace(
            accounts[args.username], password_hash=hash_password(_read_password())
        )
    elif args.command in ("disable", "enable"):
        accounts[args.username] = dataclasses.replace(
            accounts[args.username], disabled=args.command == "disable"
        )
    else:
        del accounts[args.username]
    save_accounts(path, accounts)
    load_accounts(path)  # what was written must load
    print(f"{args.command}: {args.username} ({path})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

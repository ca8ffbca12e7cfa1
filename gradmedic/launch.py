"""The ``gradmedic`` command's entry point: the CLI needs the ``[all]`` extra (typer, rich, matplotlib,
scikit-learn); without it, one line says what to install instead of a traceback."""

from __future__ import annotations

import sys

EXTRAS = {"typer", "rich", "matplotlib", "sklearn", "tensorboard", "click"}


def main(argv: list[str] | None = None) -> int:
    try:
        from gradmedic.cli import main as cli_main
    except ModuleNotFoundError as e:
        if (e.name or "").split(".")[0] not in EXTRAS:
            raise
        print(f"gradmedic: the command line needs the [all] extra ({e.name} is not installed): "
              "pip install 'gradmedic[all]'", file=sys.stderr)
        return 2
    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())

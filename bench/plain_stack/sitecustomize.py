"""Put this folder on PYTHONPATH to run a server as it ran before the C speedups were
dependencies: uvicorn then uses h11 and asyncio's own loop, redis-py its Python parser."""

import sys

REFUSED = {"uvloop", "httptools", "hiredis"}


class _Refuse:
    def find_spec(self, name, path=None, target=None):  # type: ignore[no-untyped-def]
        if name.partition(".")[0] in REFUSED:
            raise ModuleNotFoundError(f"{name} is left out (bench/plain_stack)", name=name)
        return None


sys.meta_path.insert(0, _Refuse())

"""`python -m nativeapp`: orjson is compiled, so its layer differs per platform."""

import orjson
import waitress

print(orjson.dumps({"hello": "native", "server": waitress.__name__}).decode())

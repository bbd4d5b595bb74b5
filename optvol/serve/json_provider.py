"""The API's JSON encoder: orjson in Flask's place.

A 500-contract answer is about 240 KB, mostly floats: the standard library writes it in
about 4.5 ms on this project's 2-core machine, as long as the pricing itself, and orjson
in a tenth of that. The output is Flask's default apart from spelling that any JSON
parser reads alike: no spaces, keys sorted as ``sort_keys`` says, UTF-8 rather than
``\\u`` escapes, some floats spelt otherwise (``0.00001`` for ``1e-05``), and ``null``
where Python would write the invalid ``NaN`` (the API sends ``null`` for those
anyway). NumPy scalars and arrays are written as numbers and lists; dates and anything
else orjson does not know go to Flask's own conversion, as before. Indented output
(``debug``, or ``compact = False``) stays with the standard library.
"""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response
from flask.json.provider import DefaultJSONProvider

OPTIONS = (
    orjson.OPT_SERIALIZE_NUMPY
    | orjson.OPT_NON_STR_KEYS
    | orjson.OPT_PASSTHROUGH_DATETIME  # dates as Flask writes them
)


class OrjsonProvider(DefaultJSONProvider):
    """Flask's JSON provider, writing compact JSON with orjson."""

    def encode(self, obj: Any) -> bytes:
        sort = orjson.OPT_SORT_KEYS if self.sort_keys else 0
        return orjson.dumps(obj, default=self.default, option=OPTIONS | sort)

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        if kwargs:  # a caller's own formatting options: the standard library honours them
            return super().dumps(obj, **kwargs)
        return self.encode(obj).decode()

    def response(self, *args: Any, **kwargs: Any) -> Response:
        if (self.compact is None and self._app.debug) or self.compact is False:
            return super().response(*args, **kwargs)
        obj = self._prepare_response_obj(args, kwargs)
        return self._app.response_class(self.encode(obj) + b"\n", mimetype=self.mimetype)

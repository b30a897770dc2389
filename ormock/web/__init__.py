"""The HTTP surface: the ASGI app that routes, answers and journals every request, the four video
endpoints, the control API, body limits, streaming, and the recorder's proxy."""

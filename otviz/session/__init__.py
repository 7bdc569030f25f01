"""Running one method: the Session (a method plus its history), the bounded History and the session file.

Nothing here imports Qt. Only `session.file` imports torch, so the window can use `History` alone.
"""

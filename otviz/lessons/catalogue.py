"""The lessons shipped in resources/lessons/, found by name."""
from __future__ import annotations

from pathlib import Path

from otviz.lessons.format import Lesson, LessonError, load_lesson
from otviz.util.resources_path import resource_path


def lesson_folder() -> Path:
    return resource_path("lessons")


def lesson_paths() -> list[Path]:
    """Every shipped lesson file, by name."""
    return sorted(lesson_folder().glob("*.toml"))


def lesson_names() -> list[str]:
    return [p.stem for p in lesson_paths()]


def find_lesson(name: str) -> Lesson:
    """A shipped lesson by name, or a lesson file by path; LessonError saying why not."""
    p = Path(name)
    if p.suffix == ".toml" or p.parent != Path("."):
        return load_lesson(p)
    path = lesson_folder() / f"{name}.toml"
    if not path.is_file():
        raise LessonError(f"no lesson named {name!r} (choose from {', '.join(lesson_names())})")
    return load_lesson(path)


def lessons_for(method: str) -> list[Lesson]:
    """The shipped lessons of one method (a file that does not load is left out: the tests check each)."""
    out = []
    for p in lesson_paths():
        try:
            lesson = load_lesson(p)
        except LessonError:
            continue
        if lesson.method == method:
            out.append(lesson)
    return out

"""A tiny desktop with one form: a text field and a Submit button, drawn with Pillow.

A computer-use domain with no gymhall import: one method per action (click, type, screenshot,
terminate), the screenshot a real PNG image. The task is to enter `goal_text` in the field,
press Submit, and then end the episode with terminate(success=True).
"""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

WIDTH, HEIGHT = 320, 200
FIELD = (20, 50, 300, 80)  # left, top, right, bottom
BUTTON = (120, 110, 200, 140)
MAX_TEXT = 40


def _inside(box: tuple[int, int, int, int], x: int, y: int) -> bool:
    left, top, right, bottom = box
    return left <= x <= right and top <= y <= bottom


class Desktop:
    """A 320x200 screen holding a form. Coordinates are pixels from the top-left corner.

    Args:
        goal_text: what the form must be submitted with.
    """

    def __init__(self, goal_text: str) -> None:
        self.goal_text = goal_text
        self.text = ""
        self.focused = False
        self.submitted: str | None = None
        self.terminated: bool | None = None

    def screenshot(self) -> bytes:
        """The screen as a PNG image: the field at the top, the Submit button below it."""
        image = Image.new("RGB", (WIDTH, HEIGHT), "white")
        draw = ImageDraw.Draw(image)
        draw.text((20, 20), f"Enter: {self.goal_text}", fill="black")
        draw.rectangle(FIELD, outline="blue" if self.focused else "gray", width=2)
        draw.text((FIELD[0] + 6, FIELD[1] + 10), self.text, fill="black")
        draw.rectangle(BUTTON, fill="lightgray", outline="black")
        draw.text((BUTTON[0] + 18, BUTTON[1] + 10), "Submit", fill="black")
        if self.submitted is not None:
            draw.text((20, 160), f"Submitted: {self.submitted}", fill="green")
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return buffer.getvalue()

    def click(self, x: int, y: int) -> str:
        """Click the pixel at (x, y): the field takes the keyboard focus, the button submits the form.

        Args:
            x: pixels from the left edge, 0-319.
            y: pixels from the top edge, 0-199.
        """
        if not (0 <= x < WIDTH and 0 <= y < HEIGHT):
            raise ValueError(f"({x}, {y}) is off the {WIDTH}x{HEIGHT} screen")
        if self.terminated is not None:
            raise ValueError("the episode has ended")
        self.focused = _inside(FIELD, x, y)
        if _inside(BUTTON, x, y):
            self.submitted = self.text
            return f"submitted {self.text!r}"
        return "the text field has the focus" if self.focused else "nothing there"

    def type(self, text: str) -> str:
        """Type `text` into the focused field.

        Args:
            text: the characters to type.
        """
        if not self.focused:
            raise ValueError("no field has the focus: click the text field first")
        if len(self.text) + len(text) > MAX_TEXT:
            raise ValueError(f"the field holds at most {MAX_TEXT} characters")
        self.text += text
        return f"the field reads {self.text!r}"

    def terminate(self, success: bool) -> str:
        """End the episode, saying whether the task is done.

        Args:
            success: true when the form was submitted with the requested text.
        """
        self.terminated = success
        return "episode ended"

    def goal_reached(self) -> bool:
        """Whether the form was submitted with the goal text."""
        return self.submitted == self.goal_text

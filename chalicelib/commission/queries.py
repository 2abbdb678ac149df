"""The query string of commission's statements (the routes need it when they are imported; bodies and
answers are in schemas.py, built on first use)."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ..core.inputs import Month


class CommissionStatementsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    period: Month
    user_id: str | None = Field(None, min_length=1, max_length=64, description="one rep's statement")

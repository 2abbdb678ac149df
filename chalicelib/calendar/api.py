"""HTTP routes of the calendar (日程): views, one occurrence, the iCalendar feed."""
from __future__ import annotations

from chalice import Blueprint, Response

from ..core.api import ApiRequest, Lazy, LazyModels, route
from ..core.inputs import NoBody
from . import service

bp = Blueprint(__name__)
s = LazyModels(f"{__package__}.schemas")
TAG = "calendar"


def _event_out() -> object:
    from ..engine import models
    from .entity import EVENT

    return models.model(EVENT, "out")


@route(bp, "/calendar", summary="A calendar for a day, week or month — mine, a user's, a department's or a team's: events "
       "(recurring ones expanded) and other modules' dates (next contacts, contract ends, approval time limits)", tag=TAG, query=s.CalendarQuery, response=s.CalendarOut)
def calendar_view(req: ApiRequest) -> dict:
    q = req.query
    return service.view(q.from_, q.to, q.user_id, q.department_id, team_name=q.team_name)


@route(bp, "/calendar/teams", summary="The team calendars I can open: team names among the team events I may read",
       tag=TAG, response=s.TeamCalendarsOut)
def team_calendars(req: ApiRequest) -> dict:
    return service.teams()


@route(bp, "/events/{event_id}/occurrences/{date}", "PATCH", summary="Move or cancel one occurrence of a recurring event",
       tag=TAG, body=s.OccurrencePatch, query=s.ConflictQuery, response=Lazy(_event_out), versioned_write=True)
def change_occurrence(req: ApiRequest, event_id: str, date: str) -> dict:
    body = req.body.model_dump(exclude_unset=True, exclude={"version"})
    return service.change_occurrence(event_id, date, body, req.expected_version(req.body.version), req.query.model_dump())


@route(bp, "/calendar/feed-link", "POST", summary="Create (or rotate) the secret link of my iCalendar feed", tag=TAG,
       body=NoBody, response=s.FeedLinkOut, status=201)
def create_feed_link(req: ApiRequest) -> dict:
    return service.create_feed_link()


@route(bp, "/calendar/feed-link", "DELETE", summary="Revoke the secret link of my iCalendar feed", tag=TAG, status=204)
def revoke_feed_link(req: ApiRequest) -> None:
    service.revoke_feed_link()


@route(bp, "/calendar/feed/{feed}", summary="My calendar as iCalendar (RFC 5545) by its secret link (no sign-in)", tag=TAG,
       public=True, produces="text/calendar", description="`feed` is `<token>.ics`, the link from POST /v1/calendar/feed-link.")
def calendar_feed(req: ApiRequest, feed: str) -> Response:
    return Response(body=service.feed(feed), status_code=200,
                    headers={"Content-Type": "text/calendar; charset=utf-8", "Cache-Control": "private, max-age=300"})

"""HTTP routes of conversations (内部消息) and the pull endpoint."""
from __future__ import annotations

from chalice import Blueprint

from ..core.api import ApiRequest, LazyModels, route
from ..core.inputs import NoBody
from . import service

bp = Blueprint(__name__)
s = LazyModels(f"{__package__}.schemas")
TAG = "messages"
C = "/messages/conversations"


@route(bp, C, summary="My conversations, the latest activity first", tag=TAG, query=s.ConversationListQuery, response=s.ConversationPage)
def list_conversations(req: ApiRequest) -> dict:
    items, nxt = service.list_mine(req.query.limit, req.query.cursor)
    return {"items": items, "next_cursor": nxt}


@route(bp, C + "/direct", "POST", summary="Open the direct conversation with a user (one per pair)", tag=TAG, body=s.DirectIn,
       response=s.ConversationOut)
def open_direct(req: ApiRequest) -> dict:
    return service.open_direct(req.body.user_id)


@route(bp, C, "POST", summary="Start a group conversation (I am its administrator)", tag=TAG, body=s.GroupIn,
       response=s.ConversationOut, status=201)
def create_group(req: ApiRequest) -> dict:
    return service.create_group(req.body.name, req.body.member_ids)


@route(bp, C + "/{conversation_id}", summary="One of my conversations", tag=TAG, response=s.ConversationOut)
def get_conversation(req: ApiRequest, conversation_id: str) -> dict:
    return service.get(conversation_id)


@route(bp, C + "/{conversation_id}/messages", summary="A conversation's messages, newest first", tag=TAG, query=s.ConversationListQuery,
       response=s.MessagePage)
def list_messages(req: ApiRequest, conversation_id: str) -> dict:
    items, nxt = service.messages(conversation_id, req.query.limit, req.query.cursor)
    return {"items": items, "next_cursor": nxt}


@route(bp, C + "/{conversation_id}/messages", "POST", summary="Send a message (Idempotency-Key: sent once)", tag=TAG,
       body=s.MessageIn, response=s.MessageOut, status=201, idempotent_create=True)
def send_message(req: ApiRequest, conversation_id: str) -> dict:
    return service.send(conversation_id, req.body.text, req.body.file_ids, req.idempotency_key)


@route(bp, C + "/{conversation_id}/read", "POST", summary="Move my read marker (default: to the latest message)", tag=TAG,
       body=s.ReadIn, response=s.ConversationOut)
def mark_read(req: ApiRequest, conversation_id: str) -> dict:
    return service.mark_read(conversation_id, req.body.message_id)


@route(bp, C + "/{conversation_id}/members", "POST", summary="Add members to a group (its administrators)", tag=TAG,
       body=s.MembersIn, response=s.ConversationOut)
def add_members(req: ApiRequest, conversation_id: str) -> dict:
    return service.add_members(conversation_id, req.body.user_ids)


@route(bp, C + "/{conversation_id}/members/{user_id}", "DELETE", summary="Remove a member from a group (its administrators)",
       tag=TAG, response=s.ConversationOut)
def remove_member(req: ApiRequest, conversation_id: str, user_id: str) -> dict:
    return service.remove_member(conversation_id, user_id)


@route(bp, C + "/{conversation_id}/leave", "POST", summary="Leave a group", tag=TAG, body=NoBody,
       response=s.ConversationOut)
def leave(req: ApiRequest, conversation_id: str) -> dict:
    return service.leave(conversation_id)


@route(bp, "/messages/unread", summary="Unread messages per conversation and in total, and unread notifications", tag=TAG,
       response=s.CountsOut)
def unread(req: ApiRequest) -> dict:
    return service.counts()


@route(bp, "/messages/poll", summary="Long-poll for new messages and notifications (wait ≤ 20 s)", tag=TAG, query=s.PollQuery,
       response=s.PollOut,
       description="Answers at once when something arrived since `since` (or without `since`), else when something "
                   "arrives or after `wait` seconds. Pass the answer's `cursor` as the next `since`.")
def poll(req: ApiRequest) -> dict:
    return service.poll(req.query.since, req.query.wait)

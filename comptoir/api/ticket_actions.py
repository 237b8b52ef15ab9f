"""API routes for agent actions on a ticket."""

from ninja import Router

router = Router()

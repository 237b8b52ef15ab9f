"""API routes for replies and internal notes on a ticket."""

from ninja import Router

router = Router()

"""Reviewing a corpus by eye: `ace data review DIR` serves a page on loopback to filter,
look at and decide about samples; every decision goes straight to the curation table.

    catalogue.py   the index, queried (filters, score range, sort, pages), with the decision
                   in force per key; one sample in full; members read straight from the tars
    server.py      the Flask app
    local_server.py  loopback only, the same origin for changes, stopping on SIGTERM: what
                   the review and the chat servers share
    static/        the page: review.html, review.js (keyboard, decisions, undo), review.css,
                   and dom.js, the helpers the chat page loads too
"""

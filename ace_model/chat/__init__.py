"""`ace model chat --ckpt RUN`: multi-turn editing with one checkpoint, in a local page.

conversation.py  the turns of one conversation: what each turn shows the model (its
                 images as {image}, {image1}..., an optional mask, the last turns as
                 history, as the LCUs it was trained on), and the whole conversation as
                 one multi-turn sample in the corpus's record format
server.py        the Flask app on loopback
static/          the page: chat.html, chat.js (upload or pick, paint a mask, turns), chat.css
"""

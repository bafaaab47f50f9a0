"""Clienteling: each clerk's daily tasks for the members bound to them."""

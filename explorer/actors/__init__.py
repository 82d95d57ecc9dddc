"""Actors and a network, compiled onto a plain Spec: `Node`, `Message`, `Protocol`, faults."""
from .faults import parse_faults
from .node import Message, Node, durable, on, timer
from .protocol import Protocol

__all__ = ["Message", "Node", "Protocol", "durable", "on", "parse_faults", "timer"]

"""autoclock: clocks people in and out of WebWork Tracker from real-world signals."""

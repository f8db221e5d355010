"""The resize function of the Map fan-out sample."""


def resize(event, context):
    name, _, ext = event["key"].rpartition(".")
    return {"index": event["index"], "thumbnail": f"{name}-{event['width']}w.{ext}"}

"""The transcode function of the media pipeline sample: it pretends to encode one quality level."""


def transcode(event, context):
    level = event["level"]
    stem = event["key"].rsplit(".", 1)[0]
    size_kb = level["bitrateKbps"] * event["durationSeconds"] // 8
    return {
        "level": level["name"],
        "key": f"{stem}/{level['name']}.mp4",
        "bucket": event["bucket"],
        "sizeKb": size_kb,
    }

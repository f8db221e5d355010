"""Local stand-ins for the order flow's Lambda functions (`handler(event, context)` each)."""

_attempts: dict[str, int] = {}


class PaymentGatewayBusy(Exception):
    """The gateway asks us to come back later: the workflow retries it."""


class CardDeclined(Exception):
    """A final answer from the bank: the workflow catches it."""


def validate_order(event, context):
    total = sum(item["qty"] * item["price"] for item in event.get("items", []))
    return {"valid": bool(event.get("items")), "total": round(total, 2)}


def charge_card(event, context):
    if event["orderId"].startswith("DECLINE"):
        raise CardDeclined(f"card declined for {event['orderId']}")
    seen = _attempts.get(event["orderId"], 0)
    _attempts[event["orderId"]] = seen + 1
    if seen < 1:  # the first call finds the gateway busy, the retry goes through
        raise PaymentGatewayBusy("try again shortly")
    return {"charged": event["amount"], "attempt": event["attempt"]}


def reserve_stock(event, context):
    return {"reserved": [item["sku"] for item in event["items"]]}

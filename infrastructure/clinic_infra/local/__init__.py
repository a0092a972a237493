"""The local stack: moto as the embedded AWS, the template's functions in worker processes,
an HTTP gateway that speaks API Gateway's payload 2.0, and the example site."""

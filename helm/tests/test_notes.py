"""NOTES.txt, what `helm install` prints: how to reach the shop and run the
newman suite, how to read and rotate the administrator's password, and how
operators reach the admin API and the console."""

import pytest

from cases import ADMIN_HTTPS, ADMIN_INSECURE
from rendering import notes
from spec import NAMESPACE, RELEASE


@pytest.fixture(scope="module")
def text():
    return notes()


def missing(text, wanted):
    return [w for w in wanted if w not in text]


def test_notes_say_how_to_reach_it_and_run_the_newman_suite(text):
    wanted = ["arch.homework", "/etc/hosts", "newman run homework.postman_collection.json",
              "--env-var baseUrl=arch.homework", "auth_port=80", "billing_port=80", "order_port=80"]
    assert not missing(text, wanted), f"NOTES.txt lacks {missing(text, wanted)}"


def test_notes_say_how_to_read_and_rotate_the_administrators_password(text):
    wanted = [f"kubectl get secret {RELEASE}-admin -n {NAMESPACE} -o jsonpath='{{.data.admin-password}}' | base64 -d",
              f"kubectl rollout restart deployment {RELEASE}-auth"]
    assert not missing(text, wanted), f"NOTES.txt lacks {missing(text, wanted)}"
    assert "kubectl get secret my-admin " in notes({"admin": {"existingSecret": "my-admin"}}), \
        "NOTES.txt does not name the brought admin Secret"
    assert "admin-password" not in notes({"admin": {"username": ""}}), \
        "admin.username empty, yet NOTES.txt tells how to read a password"


def test_notes_say_how_operators_reach_the_admin_api_and_the_console(text):
    """kubectl port-forward when the admin Ingress is off; its address and
    allowed sources when on; a warning over plain HTTP."""
    port_forward = [f"kubectl port-forward -n {NAMESPACE} svc/{RELEASE}-order-api 8003:8003",
                    f"kubectl port-forward -n {NAMESPACE} svc/{RELEASE}-auth 8001:8001",
                    "http://127.0.0.1:8080/console/", "adminIngress.enabled"]
    assert not missing(text, port_forward), f"NOTES.txt (admin Ingress off) lacks {missing(text, port_forward)}"
    on = notes(ADMIN_HTTPS.values)
    wanted = ["https://ops.arch.homework/console/", "10.20.0.0/16"]
    assert not missing(on, wanted), f"NOTES.txt (admin Ingress on) lacks {missing(on, wanted)}"
    insecure = notes(ADMIN_INSECURE.values)
    wanted = ["http://arch.homework/console/", "plain HTTP"]
    assert not missing(insecure, wanted), f"NOTES.txt (allowInsecure) lacks {missing(insecure, wanted)}"

#!/usr/bin/env python3
"""A real S3-compatible server for the tests: moto's, on 127.0.0.1, any
free port, with each BUCKET created and publicly readable as a CDN bucket
is (tests/common/dist.rs creates more the same way). Prints "port N" once
ready; stops when its standard input closes.

usage: s3_server.py [BUCKET...]
"""
import json
import sys

import boto3
from moto.server import ThreadedMotoServer


def main():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    _, port = server.get_host_and_port()
    s3 = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    for bucket in sys.argv[1:]:
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_policy(
            Bucket=bucket,
            Policy=json.dumps({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": "*",
                    # moto authorises HEAD as "s3:HeadObject" (AWS: s3:GetObject).
                    "Action": ["s3:GetObject", "s3:HeadObject"],
                    "Resource": f"arn:aws:s3:::{bucket}/*",
                }],
            }),
        )
    print(f"port {port}", flush=True)
    sys.stdin.read()
    server.stop()


if __name__ == "__main__":
    main()
